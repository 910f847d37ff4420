import { app } from "@azure/functions";
import { loginHandler } from "./auth/loginHandler";

app.http("authLogin", { methods: ["GET"], authLevel: "function", route: "auth/login", handler: loginHandler });
