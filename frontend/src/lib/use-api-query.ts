"use client";

import { useRouter } from "next/navigation";
import { startTransition, useCallback, useEffect, useRef, useState } from "react";
import { ApiError } from "@/lib/api/errors";
import { loginPath } from "@/lib/next-path";

export interface ApiQuery<T> {
  /** The latest data; kept while the next key loads (paging does not blank a table). */
  data: T | undefined;
  error: ApiError | null;
  loading: boolean;
  retry: () => void;
}

interface State<T> {
  data: T | undefined;
  error: ApiError | null;
  loading: boolean;
}

/**
 * One request per `key` (null: not yet), cancelled when the key changes or the component
 * goes. A 401 means the session ended: to the sign-in page, and back here afterwards.
 */
export function useApiQuery<T>(
  key: string | null,
  load: (signal: AbortSignal) => Promise<T>,
): ApiQuery<T> {
  const router = useRouter();
  const loadRef = useRef(load);
  const [attempt, setAttempt] = useState(0);
  const [state, setState] = useState<State<T>>({ data: undefined, error: null, loading: true });

  useEffect(() => {
    loadRef.current = load;
  });

  useEffect(() => {
    if (key === null) return;
    const controller = new AbortController();
    setState((previous) => ({ ...previous, error: null, loading: true }));
    loadRef.current(controller.signal).then(
      (data) => {
        if (controller.signal.aborted) return;
        // A transition: React renders what arrived in short slices, not in one long task.
        startTransition(() => setState({ data, error: null, loading: false }));
      },
      (error: unknown) => {
        if (controller.signal.aborted) return;
        const apiError =
          error instanceof ApiError
            ? error
            : new ApiError(
                0,
                "network_error",
                error instanceof Error ? error.message : String(error),
              );
        if (apiError.unauthorized) {
          router.replace(loginPath(window.location.pathname + window.location.search));
          return;
        }
        setState((previous) => ({ ...previous, error: apiError, loading: false }));
      },
    );
    return () => controller.abort();
  }, [key, attempt, router]);

  const retry = useCallback(() => setAttempt((count) => count + 1), []);
  return { ...state, retry };
}
