import { app } from "@azure/functions";
import { productionDependencies } from "./app/productionDependencies";
import { createTransferWorker } from "./app/transferWorker";

app.storageQueue("transferWorker", {
  queueName: "%TRANSFER_QUEUE%",
  connection: "SOURCE_STORAGE",
  handler: (entry, context) => createTransferWorker(productionDependencies())(entry, context),
});
