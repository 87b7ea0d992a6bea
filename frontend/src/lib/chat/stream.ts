import { apiErrorFrom, ApiError } from "@/lib/api/errors";
import { readSse, toConsoleEvent, type ConsoleStreamEvent } from "@/lib/sse";

/**
 * Ask in a dialog and yield its answer's events as they arrive (a POST, so fetch and not
 * EventSource). A refused question (429, 409, 401, webapi down…) throws an ApiError.
 */
export async function* askInDialog(
  dialogId: number,
  text: string,
  signal: AbortSignal,
): AsyncGenerator<ConsoleStreamEvent> {
  let response: Response;
  try {
    response = await fetch(`/api/v1/chat/dialogs/${dialogId}/messages`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify({ text }),
      signal,
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw new ApiError(0, "network_error", error instanceof Error ? error.message : String(error));
  }
  if (!response.ok || !response.body) {
    const body: unknown = await response.json().catch(() => undefined);
    throw apiErrorFrom(response, body);
  }
  for await (const message of readSse(response.body)) {
    const event = toConsoleEvent(message);
    if (event) yield event;
  }
}
