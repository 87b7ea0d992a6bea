"use client";

import * as ToggleGroupPrimitive from "@radix-ui/react-toggle-group";
import type { ComponentProps } from "react";
import { cn } from "@/lib/utils";

export function ToggleGroup({
  className,
  ...props
}: ComponentProps<typeof ToggleGroupPrimitive.Root>) {
  return (
    <ToggleGroupPrimitive.Root
      data-slot="toggle-group"
      className={cn(
        "inline-flex w-fit items-center rounded-md border bg-muted/50 p-0.5",
        className,
      )}
      {...props}
    />
  );
}

/** `padding`: its inline padding (cn() does not let a className override it). */
export function ToggleGroupItem({
  className,
  padding = "px-2.5",
  ...props
}: ComponentProps<typeof ToggleGroupPrimitive.Item> & { padding?: string }) {
  return (
    <ToggleGroupPrimitive.Item
      data-slot="toggle-group-item"
      className={cn(
        "inline-flex h-8 items-center justify-center rounded-[calc(var(--radius)-4px)] text-sm font-medium whitespace-nowrap text-muted-foreground transition-colors outline-none",
        padding,
        "hover:text-foreground focus-visible:ring-[3px] focus-visible:ring-ring/50",
        "data-[state=on]:bg-background data-[state=on]:text-foreground data-[state=on]:shadow-xs",
        className,
      )}
      {...props}
    />
  );
}
