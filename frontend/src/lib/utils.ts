import { clsx, type ClassValue } from "clsx";

/**
 * Joins class names. It does not resolve conflicts between Tailwind classes (tailwind-merge's
 * first call alone cost the dashboard's first load a long task on a phone): a component never
 * lets a caller's className override one of its own classes. What a caller may change (a
 * card's spacing, an input's size, a table head's alignment) is a prop of its own, and the
 * component puts either its default or the caller's choice in the list, never both.
 */
export function cn(...inputs: ClassValue[]): string {
  return clsx(inputs);
}
