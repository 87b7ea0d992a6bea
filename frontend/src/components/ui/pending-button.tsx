import { LoaderCircleIcon } from "lucide-react";
import type { ComponentProps, ReactNode } from "react";
import { Button } from "@/components/ui/button";

/** A button that, while its action runs, spins, says so and cannot be pressed again. */
export function PendingButton({
  pending,
  pendingText,
  children,
  disabled,
  ...props
}: ComponentProps<typeof Button> & { pending: boolean; pendingText: ReactNode }) {
  return (
    <Button disabled={pending || disabled} {...props}>
      {pending && <LoaderCircleIcon className="animate-spin" aria-hidden />}
      {pending ? pendingText : children}
    </Button>
  );
}
