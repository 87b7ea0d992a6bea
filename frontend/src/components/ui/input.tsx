import type { ComponentProps } from "react";
import { cn } from "@/lib/utils";

/** `sizing`: its height and width (cn() does not let a className override them). */
export function Input({
  className,
  type,
  sizing = "h-9 w-full",
  ...props
}: ComponentProps<"input"> & { sizing?: string }) {
  return (
    <input
      type={type}
      data-slot="input"
      className={cn(
        "flex min-w-0 rounded-md border border-input bg-transparent px-3 py-1 text-base shadow-xs transition-[color,box-shadow] outline-none placeholder:text-muted-foreground disabled:cursor-not-allowed disabled:opacity-50 md:text-sm dark:bg-input/30",
        "focus-visible:border-ring focus-visible:ring-[3px] focus-visible:ring-ring/50",
        "aria-invalid:border-destructive aria-invalid:ring-destructive/20",
        sizing,
        className,
      )}
      {...props}
    />
  );
}
