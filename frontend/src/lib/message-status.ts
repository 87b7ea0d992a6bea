/**
 * How a stored message ended, as the console names it: webapi keeps a stopped answer as status
 * `error` with code `cancelled`, which is no failure to the reader (the client stopped it).
 */
export function messageOutcome(message: { status: string; error_code?: string | null }): string {
  return message.error_code === "cancelled" ? "cancelled" : message.status;
}
