import { app } from "@azure/functions";
import { productionDependencies } from "./app/productionDependencies";
import { createStatusPageHandler } from "./app/statusPageHandler";

/** The status as a page for a browser; the same function key as the transfers API. */
app.http("statusPage", {
  methods: ["GET"],
  authLevel: "function",
  route: "status",
  handler: (request, context) => createStatusPageHandler(productionDependencies())(request, context),
});
