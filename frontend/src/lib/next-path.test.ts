import { describe, expect, it } from "vitest";
import { loginPath, safeNextPath } from "./next-path";

describe("safeNextPath", () => {
  it("keeps paths of this site", () => {
    expect(safeNextPath("/chat")).toBe("/chat");
    expect(safeNextPath("/?period=day")).toBe("/?period=day");
  });

  it("refuses other sites, nothing and the login page itself", () => {
    for (const value of ["//evil.example", "/\\evil.example", "https://evil.example", "", null]) {
      expect(safeNextPath(value)).toBe("/");
    }
    expect(safeNextPath("/login?next=/chat")).toBe("/");
  });

  it("builds the login URL", () => {
    expect(loginPath("/")).toBe("/login");
    expect(loginPath("/?period=day")).toBe("/login?next=%2F%3Fperiod%3Dday");
  });
});
