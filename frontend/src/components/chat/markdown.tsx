"use client";

import ReactMarkdown, { type Components } from "react-markdown";
import remarkGfm from "remark-gfm";

/** Links open in a new tab, without the opener or a referrer. */
const components: Components = {
  a: ({ node: _node, ...props }) => <a {...props} target="_blank" rel="noreferrer noopener" />,
};

/**
 * An answer's Markdown (GitHub's flavour). Raw HTML is not rendered (react-markdown escapes it
 * without rehype-raw), and react-markdown drops unsafe URLs (javascript: and the like).
 */
export default function Markdown({ text }: { text: string }) {
  return (
    <div className="chat-markdown text-sm leading-relaxed break-words">
      <ReactMarkdown remarkPlugins={[remarkGfm]} components={components} skipHtml>
        {text}
      </ReactMarkdown>
    </div>
  );
}
