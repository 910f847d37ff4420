import { app } from "@azure/functions";
import { productionDependencies } from "./app/productionDependencies";
import { createSweepTimer } from "./app/sweepTimer";

app.timer("sweep", {
  schedule: "%TRANSFER_SCHEDULE%",
  handler: async (timer, context) => {
    await createSweepTimer(productionDependencies())(timer, context);
  },
});
