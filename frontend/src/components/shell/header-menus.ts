// The header's menus, one chunk loaded on demand (header-controls.tsx).
export { AccountMenu } from "./account-menu";
export { LanguageSwitch } from "./language-switch";
export { ThemeToggle } from "./theme-toggle";
