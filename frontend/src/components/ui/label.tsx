"use client";

import * as LabelPrimitive from "@radix-ui/react-label";
import type { ComponentProps } from "react";
import { cn } from "@/lib/utils";

/** `textSize`: its font size (cn() does not let a className override it). */
export function Label({
  className,
  textSize = "text-sm",
  ...props
}: ComponentProps<typeof LabelPrimitive.Root> & { textSize?: string }) {
  return (
    <LabelPrimitive.Root
      data-slot="label"
      className={cn(
        "flex items-center gap-2 leading-none font-medium select-none peer-disabled:cursor-not-allowed peer-disabled:opacity-50",
        textSize,
        className,
      )}
      {...props}
    />
  );
}
