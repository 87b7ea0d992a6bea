import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // A self-contained server: `npm run build` leaves .next/standalone/server.js with its assets
  // (scripts/standalone-assets.mjs copies them in), run with `node server.js`.
  output: "standalone",
  poweredByHeader: false,
  reactStrictMode: true,
  // The middleware's redirects keep the host the browser asked for; without this Next.js
  // rewrites 127.0.0.1 and [::1] to localhost, another origin without the session cookie.
  skipMiddlewareUrlNormalize: true,
};

export default nextConfig;
