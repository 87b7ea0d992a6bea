"use client";

import { BarChart3Icon, MessageSquareIcon, PanelLeftIcon } from "lucide-react";
import { useRouter, useSearchParams } from "next/navigation";
import { useCallback, useEffect, useReducer, useRef, useState } from "react";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Label } from "@/components/ui/label";
import {
  Sheet,
  SheetContent,
  SheetDescription,
  SheetHeader,
  SheetTitle,
} from "@/components/ui/sheet";
import { Skeleton } from "@/components/ui/skeleton";
import { ToggleGroup, ToggleGroupItem } from "@/components/ui/toggle-group";
import { useChatTexts } from "@/i18n/chat";
import { useI18n } from "@/i18n/provider";
import { api, unwrap } from "@/lib/api/client";
import { ApiError } from "@/lib/api/errors";
import type { Schemas } from "@/lib/api/types";
import { chatReducer, initialChatState, type ChatMode } from "@/lib/chat/state";
import { askInDialog } from "@/lib/chat/stream";
import { loginPath } from "@/lib/next-path";
import { useApiQuery } from "@/lib/use-api-query";
import { Composer } from "./composer";
import { DialogList, type ChatDialog } from "./dialog-list";
import { MessageList } from "./message-list";

const PER_PAGE = 20;

type Role = Schemas["ChatRoleOut"];

function toApiError(error: unknown): ApiError {
  return error instanceof ApiError
    ? error
    : new ApiError(0, "network_error", error instanceof Error ? error.message : String(error));
}

function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === "AbortError";
}

/** The account's dialogs, a page at a time; `refresh` brings the first page up to date. */
function useDialogs(onUnauthorized: () => void) {
  const [dialogs, setDialogs] = useState<ChatDialog[]>([]);
  const [total, setTotal] = useState(0);
  const [page, setPage] = useState(1);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<ApiError | null>(null);
  const [attempt, setAttempt] = useState(0);
  const unauthorizedRef = useRef(onUnauthorized);
  useEffect(() => {
    unauthorizedRef.current = onUnauthorized;
  });

  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    setError(null);
    unwrap(
      api.GET("/api/v1/chat/dialogs", {
        params: { query: { page, per_page: PER_PAGE } },
        signal: controller.signal,
      }),
    ).then(
      (data) => {
        if (controller.signal.aborted) return;
        setTotal(data.total);
        setDialogs((previous) => {
          const fresh = new Map(data.dialogs.map((dialog) => [dialog.id, dialog]));
          if (page === 1) {
            const kept = previous.filter((dialog) => !fresh.has(dialog.id));
            return [...data.dialogs, ...kept].sort((a, b) => b.id - a.id);
          }
          return [...previous.filter((dialog) => !fresh.has(dialog.id)), ...data.dialogs];
        });
        setLoading(false);
      },
      (failure: unknown) => {
        if (controller.signal.aborted) return;
        const apiError = toApiError(failure);
        if (apiError.unauthorized) return unauthorizedRef.current();
        setError(apiError);
        setLoading(false);
      },
    );
    return () => controller.abort();
  }, [page, attempt]);

  const refresh = useCallback(() => {
    setPage(1);
    setAttempt((count) => count + 1);
  }, []);
  const more = useCallback(() => setPage((current) => current + 1), []);
  return { dialogs, total, loading, error, refresh, more };
}

function EmptyDialog({
  mode,
  onMode,
  role,
  onRole,
  roles,
  onAsk,
  disabled,
  choose,
}: {
  choose: boolean;
  mode: ChatMode;
  onMode: (mode: ChatMode) => void;
  role: string;
  onRole: (role: string) => void;
  roles: Role[] | undefined;
  onAsk: (question: string) => void;
  disabled: boolean;
}) {
  const tc = useChatTexts();
  return (
    <div className="grid gap-6 py-4">
      {choose && (
        <div className="grid gap-2">
          <span id="chat-mode-label" className="text-sm font-medium">
            {tc.modeLabel}
          </span>
          <ToggleGroup
            type="single"
            value={mode}
            onValueChange={(value) => value && onMode(value as ChatMode)}
            aria-labelledby="chat-mode-label"
          >
            <ToggleGroupItem value="assistant" padding="px-3" className="gap-1.5">
              <MessageSquareIcon className="size-4" aria-hidden />
              {tc.modes.assistant}
            </ToggleGroupItem>
            <ToggleGroupItem value="insights" padding="px-3" className="gap-1.5">
              <BarChart3Icon className="size-4" aria-hidden />
              {tc.modes.insights}
            </ToggleGroupItem>
          </ToggleGroup>
          <p className="text-sm text-muted-foreground">{tc.modeHint[mode]}</p>
        </div>
      )}
      {choose && mode === "assistant" && (
        <div className="grid max-w-sm gap-2">
          <Label htmlFor="chat-role">{tc.role}</Label>
          {roles ? (
            <select
              id="chat-role"
              value={role}
              onChange={(event) => onRole(event.target.value)}
              className="h-9 rounded-md border bg-background px-2 text-sm shadow-xs outline-none focus-visible:ring-[3px] focus-visible:ring-ring/50 dark:bg-input/30"
            >
              {roles.map((item) => (
                <option key={item.name} value={item.name}>
                  {item.title}
                </option>
              ))}
            </select>
          ) : (
            <Skeleton className="h-9" />
          )}
          {roles && (
            <p className="text-xs text-muted-foreground">
              {roles.find((item) => item.name === role)?.description}
            </p>
          )}
        </div>
      )}
      <div className="grid gap-2">
        <h2 className="text-sm font-medium">{tc.suggestionsTitle}</h2>
        <ul className="grid gap-2 sm:grid-cols-3">
          {(tc.suggestions[mode] ?? []).map((question) => (
            <li key={question}>
              <button
                type="button"
                disabled={disabled}
                onClick={() => onAsk(question)}
                className="h-full w-full rounded-lg border bg-card p-3 text-left text-sm transition-colors outline-none hover:bg-accent focus-visible:ring-[3px] focus-visible:ring-ring/50 disabled:opacity-50"
              >
                {question}
              </button>
            </li>
          ))}
        </ul>
      </div>
    </div>
  );
}

export function ChatScreen() {
  const { t } = useI18n();
  const tc = useChatTexts();
  const router = useRouter();
  const searchParams = useSearchParams();
  const dialogParam = Number.parseInt(searchParams.get("dialog") ?? "", 10);
  const openId = Number.isFinite(dialogParam) && dialogParam > 0 ? dialogParam : null;

  const [state, dispatch] = useReducer(chatReducer, initialChatState);
  const [openDialog, setOpenDialog] = useState<ChatDialog | null>(null);
  const [opening, setOpening] = useState(false);
  const [openError, setOpenError] = useState<ApiError | null>(null);
  const [openAttempt, setOpenAttempt] = useState(0);
  const [draftMode, setDraftMode] = useState<ChatMode>("assistant");
  const [draftRole, setDraftRole] = useState("");
  const [listOpen, setListOpen] = useState(false);
  const streamRef = useRef<AbortController | null>(null);
  /** The dialog this page created and streams into: the URL follows it, no reload needed. */
  const createdRef = useRef<number | null>(null);
  const endRef = useRef<HTMLDivElement>(null);

  const toSignIn = useCallback(() => {
    router.replace(loginPath(window.location.pathname + window.location.search));
  }, [router]);
  const list = useDialogs(toSignIn);

  const roles = useApiQuery<Role[]>("chat/roles", async (signal) => {
    const data = await unwrap(api.GET("/api/v1/chat/roles", { signal }));
    return data.roles;
  });
  const roleChoice = draftRole || roles.data?.find((role) => role.is_default)?.name || "";

  // Open the dialog in the URL (a reload, the list, back and forward).
  useEffect(() => {
    if (openId === null) {
      createdRef.current = null;
      streamRef.current?.abort();
      setOpenDialog(null);
      setOpenError(null);
      dispatch({ type: "reset" });
      return;
    }
    if (createdRef.current === openId) return;
    streamRef.current?.abort();
    const controller = new AbortController();
    setOpening(true);
    setOpenError(null);
    dispatch({ type: "reset" });
    unwrap(
      api.GET("/api/v1/chat/dialogs/{dialog_id}", {
        params: { path: { dialog_id: openId } },
        signal: controller.signal,
      }),
    ).then(
      (data) => {
        if (controller.signal.aborted) return;
        setOpenDialog(data.dialog);
        dispatch({ type: "load", messages: data.messages });
        setOpening(false);
      },
      (failure: unknown) => {
        if (controller.signal.aborted) return;
        const apiError = toApiError(failure);
        if (apiError.unauthorized) return toSignIn();
        setOpenError(apiError);
        setOpening(false);
      },
    );
    return () => controller.abort();
  }, [openId, openAttempt, toSignIn]);

  // The list knows the open dialog's latest title and count.
  useEffect(() => {
    setOpenDialog((current) => {
      const listed = current && list.dialogs.find((dialog) => dialog.id === current.id);
      return listed && listed !== current ? listed : current;
    });
  }, [list.dialogs]);

  // Follow the answer as it grows, unless the reader has scrolled up to read.
  const followRef = useRef(true);
  useEffect(() => {
    const onScroll = () => {
      const bottom = document.documentElement.scrollHeight - window.innerHeight;
      followRef.current = window.scrollY >= bottom - 120;
    };
    window.addEventListener("scroll", onScroll, { passive: true });
    return () => window.removeEventListener("scroll", onScroll);
  }, []);
  useEffect(() => {
    if (state.entries.length === 0 || !followRef.current) return;
    endRef.current?.scrollIntoView({ block: "end" });
  }, [state.entries]);
  // Parts that load lazily (Markdown, the SQL, the chart) grow the conversation later.
  const conversationRef = useRef<HTMLDivElement>(null);
  const hasEntries = state.entries.length > 0;
  useEffect(() => {
    const conversation = conversationRef.current;
    if (!conversation || !hasEntries || typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(() => {
      if (followRef.current) endRef.current?.scrollIntoView({ block: "end" });
    });
    observer.observe(conversation);
    return () => observer.disconnect();
  }, [hasEntries]);

  useEffect(() => () => streamRef.current?.abort(), []);

  const send = useCallback(
    async (text: string) => {
      if (state.streaming) return;
      const controller = new AbortController();
      streamRef.current = controller;
      followRef.current = true;
      dispatch({ type: "ask", text, key: String(Date.now()) });
      try {
        let dialogId = openDialog?.id ?? null;
        if (dialogId === null) {
          const created = await unwrap(
            api.POST("/api/v1/chat/dialogs", {
              body: {
                mode: draftMode,
                role: draftMode === "assistant" ? roleChoice || null : null,
              },
              signal: controller.signal,
            }),
          );
          dialogId = created.id;
          createdRef.current = created.id;
          setOpenDialog({ ...created, title: created.title ?? text });
          router.replace(`/chat?dialog=${created.id}`, { scroll: false });
        }
        for await (const event of askInDialog(dialogId, text, controller.signal)) {
          dispatch({ type: "event", event });
        }
        // A stream that ended without done or error was cut.
        dispatch({ type: "failed", error: { code: "interrupted", message: "" } });
      } catch (failure) {
        if (isAbort(failure) || controller.signal.aborted) {
          dispatch({ type: "stopped" });
        } else {
          const apiError = toApiError(failure);
          if (apiError.unauthorized) {
            toSignIn();
            return;
          }
          dispatch({
            type: "failed",
            error: {
              code: apiError.code,
              message: apiError.message,
              retryAfter: apiError.retryAfter,
            },
          });
        }
      } finally {
        if (streamRef.current === controller) streamRef.current = null;
        list.refresh();
      }
    },
    [state.streaming, openDialog, draftMode, roleChoice, router, toSignIn, list],
  );

  const stop = useCallback(() => {
    const controller = streamRef.current;
    if (!controller) return;
    if (openDialog) {
      void api
        .POST("/api/v1/chat/dialogs/{dialog_id}/cancel", {
          params: { path: { dialog_id: openDialog.id } },
          body: {},
        })
        .catch(() => undefined);
    }
    controller.abort();
  }, [openDialog]);

  const openFromList = (id: number) => {
    setListOpen(false);
    if (id === openId) return;
    createdRef.current = null;
    router.push(`/chat?dialog=${id}`);
  };
  const startNew = () => {
    setListOpen(false);
    streamRef.current?.abort();
    createdRef.current = null;
    setOpenDialog(null);
    dispatch({ type: "reset" });
    router.push("/chat");
  };

  const dialogList = (
    <DialogList
      dialogs={list.dialogs}
      total={list.total}
      loading={list.loading}
      error={list.error}
      openId={openDialog?.id ?? openId}
      onOpen={openFromList}
      onNew={startNew}
      onMore={list.more}
      onRetry={list.refresh}
    />
  );

  const mode = openDialog?.mode ?? draftMode;
  const heading = openDialog
    ? openDialog.title || tc.untitled
    : openId !== null
      ? t.common.loading
      : tc.newDialog;
  const roleTitle =
    openDialog?.mode === "assistant"
      ? (roles.data?.find((role) => role.name === openDialog.role)?.title ?? openDialog.role)
      : null;

  return (
    <div className="grid gap-6 md:grid-cols-[16rem_minmax(0,1fr)]">
      <aside className="hidden md:block" aria-label={tc.dialogs}>
        <div className="sticky top-20 max-h-[calc(100dvh-6rem)] overflow-y-auto pr-1">
          {dialogList}
        </div>
      </aside>
      <section
        className="flex min-h-[calc(100dvh-9rem)] min-w-0 flex-col gap-4"
        aria-labelledby="chat-heading"
      >
        <div className="flex items-start gap-2">
          <Button
            variant="outline"
            size="icon"
            className="md:hidden"
            onClick={() => setListOpen(true)}
            aria-label={tc.showDialogs}
          >
            <PanelLeftIcon aria-hidden />
          </Button>
          <div className="grid min-w-0 flex-1 gap-1">
            <h1 id="chat-heading" className="truncate text-2xl font-semibold tracking-tight">
              {heading}
            </h1>
            {openDialog && (
              <p className="flex items-center gap-2 text-sm text-muted-foreground">
                <Badge variant={mode === "insights" ? "default" : "secondary"}>
                  {tc.modes[mode]}
                </Badge>
                {roleTitle && <span>{roleTitle}</span>}
              </p>
            )}
          </div>
        </div>

        <div className="flex-1" ref={conversationRef}>
          {openError ? (
            <div
              role="alert"
              className="grid justify-items-start gap-2 rounded-lg border border-destructive/30 bg-destructive/5 p-4 text-sm"
            >
              <p className="font-medium">{tc.openFailed}</p>
              <p className="text-muted-foreground">
                {openError.code === "api_unavailable" || openError.code === "network_error"
                  ? t.errors.apiUnavailableBody
                  : (tc.errorCodes[openError.code] ?? openError.message)}
              </p>
              <Button variant="outline" size="sm" onClick={() => setOpenAttempt((n) => n + 1)}>
                {t.common.retry}
              </Button>
            </div>
          ) : opening ? (
            <div className="grid gap-4" aria-label={t.common.loading}>
              <Skeleton className="ml-auto h-10 w-1/2" />
              <Skeleton className="h-24 w-3/4" />
            </div>
          ) : state.entries.length === 0 ? (
            <EmptyDialog
              choose={!openDialog}
              mode={mode}
              onMode={(value) => !openDialog && setDraftMode(value)}
              role={roleChoice}
              onRole={setDraftRole}
              roles={roles.data}
              onAsk={(question) => void send(question)}
              disabled={state.streaming}
            />
          ) : (
            <MessageList
              entries={state.entries}
              onRetry={(question) => void send(question)}
              busy={state.streaming}
            />
          )}
        </div>

        <div className="sticky bottom-0 bg-background pt-2 pb-3">
          <Composer streaming={state.streaming} onSend={(text) => void send(text)} onStop={stop} />
        </div>
        <div ref={endRef} aria-hidden />
      </section>

      <Sheet open={listOpen} onOpenChange={setListOpen}>
        <SheetContent
          closeLabel={t.common.close}
          width="w-[85vw]"
          className="max-w-xs overflow-y-auto p-4"
        >
          <SheetHeader padding="p-0">
            <SheetTitle>{tc.dialogs}</SheetTitle>
            <SheetDescription className="sr-only">{tc.title}</SheetDescription>
          </SheetHeader>
          {dialogList}
        </SheetContent>
      </Sheet>
    </div>
  );
}
