import { app } from "@azure/functions";
import { productionDependencies } from "./app/productionDependencies";
import { createStartTransfersHandler, createTransferRowHandler, createTransferStatusHandler } from "./app/transfersHttp";

app.http("startTransfers", {
  methods: ["POST"],
  authLevel: "function",
  route: "transfers",
  handler: (request, context) => createStartTransfersHandler(productionDependencies())(request, context),
});

app.http("transferStatus", {
  methods: ["GET"],
  authLevel: "function",
  route: "transfers",
  handler: (request, context) => createTransferStatusHandler(productionDependencies())(request, context),
});

app.http("transferRow", {
  methods: ["GET"],
  authLevel: "function",
  route: "transfers/{*blob}",
  handler: (request, context) => createTransferRowHandler(productionDependencies())(request, context),
});
