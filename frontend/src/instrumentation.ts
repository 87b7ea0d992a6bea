/** Runs once when the console's server starts. */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME === "nodejs") {
    const { recordPeerAddress } = await import("@/lib/server/peer-address");
    recordPeerAddress();
  }
}
