import type { Cookie, InvocationContext } from "@azure/functions";
import { readAuthMode } from "./appAuthSettings";
import { loadSignInSettings, type SignInSettings } from "./authSettings";
import { SettingsError } from "../config/settings";
import { TRANSACTION_COOKIE_NAME, TRANSACTION_LIFETIME_SECONDS } from "./transactionCookie";

/** True when AUTH_MODE=app (no sign-in); an invalid AUTH_MODE is logged and counts as a configuration problem. */
export function runsWithoutSignIn(context: InvocationContext): boolean | "invalid" {
  try {
    return readAuthMode(process.env) === "app";
  } catch (error) {
    context.error((error as Error).message);
    return "invalid";
  }
}

/** Settings for one invocation, or undefined after logging every problem (pages never show setting values). */
export function settingsForInvocation(context: InvocationContext): SignInSettings | undefined {
  try {
    return loadSignInSettings(process.env);
  } catch (error) {
    if (error instanceof SettingsError) context.error(error.message);
    else context.error(`Could not read the sign-in settings: ${(error as Error).message}`);
    return undefined;
  }
}

export function transactionCookie(value: string): Cookie {
  return { name: TRANSACTION_COOKIE_NAME, value, path: "/", secure: true, httpOnly: true, sameSite: "Lax", maxAge: TRANSACTION_LIFETIME_SECONDS };
}

/** Single use: the callback always expires the cookie, whatever the outcome. */
export function clearedTransactionCookie(): Cookie {
  return { name: TRANSACTION_COOKIE_NAME, value: "", path: "/", secure: true, httpOnly: true, sameSite: "Lax", maxAge: 0, expires: 0 };
}
