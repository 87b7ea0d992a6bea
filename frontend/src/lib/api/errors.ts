import type { ErrorCode } from "./types";

/** webapi's codes, plus the console proxy's own when webapi cannot be reached. */
export type ApiErrorCode = ErrorCode | "api_unavailable" | "network_error";

export class ApiError extends Error {
  override readonly name = "ApiError";

  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    /** Seconds to wait, from Retry-After (429). */
    readonly retryAfter: number | null = null,
  ) {
    super(message);
  }

  get unauthorized(): boolean {
    return this.status === 401;
  }
}

interface ErrorPayload {
  error?: { code?: string; message?: string };
}

/** An ApiError from a failed response and the JSON body openapi-fetch parsed from it. */
export function apiErrorFrom(response: Response, body: unknown): ApiError {
  const error = (body as ErrorPayload | undefined)?.error;
  const retryAfter = Number.parseInt(response.headers.get("Retry-After") ?? "", 10);
  return new ApiError(
    response.status,
    (error?.code as ApiErrorCode | undefined) ?? "internal_error",
    error?.message ?? `${response.status} ${response.statusText}`.trim(),
    Number.isFinite(retryAfter) ? retryAfter : null,
  );
}
