"use client";

/** The last resort, when even the root layout fails: no providers, so plain English. */
export default function GlobalError({
  reset,
}: {
  error: Error & { digest?: string };
  reset: () => void;
}) {
  return (
    <html lang="en">
      <body
        style={{
          fontFamily: "system-ui, sans-serif",
          padding: "4rem 1rem",
          maxWidth: 520,
          margin: "0 auto",
        }}
      >
        <h1>Something went wrong</h1>
        <p>The console could not be shown. Check that webapi is running, then try again.</p>
        <button type="button" onClick={reset}>
          Try again
        </button>
      </body>
    </html>
  );
}
