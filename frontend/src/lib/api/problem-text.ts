import type { Dictionary } from "@/i18n/dictionaries";
import { ApiError } from "./errors";

/**
 * What to tell the user when a form's request failed for a reason the form has no words of
 * its own for: webapi's sentence (it names the field and the rule), or the common cases.
 */
export function problemText(error: unknown, t: Dictionary): string {
  if (!(error instanceof ApiError)) return t.form.failed(String(error));
  if (error.unauthorized) return t.form.sessionEnded;
  switch (error.code) {
    case "api_unavailable":
    case "network_error":
      return t.form.unavailable;
    case "too_many_requests":
      return t.form.tooManyRequests;
    default:
      return t.form.failed(error.message);
  }
}
