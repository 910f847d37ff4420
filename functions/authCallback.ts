import { app } from "@azure/functions";
import { callbackHandler } from "./auth/callbackHandler";

app.http("authCallback", { methods: ["GET"], authLevel: "anonymous", route: "auth/callback", handler: callbackHandler });
