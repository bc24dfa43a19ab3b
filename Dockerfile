# syntax=docker/dockerfile:1
# Multi-stage: build with the toolchain (better-sqlite3 compiles natively), run without it.

FROM node:20-bookworm-slim AS build
WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL=skip
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json .npmrc ./
# --ignore-scripts for the project itself (no sources yet); dependencies' approved scripts run below.
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim AS runtime
WORKDIR /app
# tini as PID 1: it forwards SIGTERM to node and reaps, so `docker stop` is a graceful stop even in
# the moment before node has installed its own handlers (PID 1 ignores a signal it has no handler for).
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    PORT=8080 \
    VP_DATA_DIR=/var/lib/voice-passport \
    VP_MODELS_DIR=/app/models
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
# The CLI runs here as `voice-passport` (on PATH), not `npx voice-passport`: npx would install this
# package into its cache, which runs `prepare` (the tsc build; TypeScript is a dev dependency, absent
# here: exit 127) and, as user node, chmods the root-owned launcher (EPERM).
RUN ln -s /app/bin/voice-passport.js /usr/local/bin/voice-passport
# The models travel inside the image: nothing is downloaded at run time.
COPY models ./models
COPY consent-notices ./consent-notices
COPY console ./console
RUN mkdir -p /var/lib/voice-passport && chown node:node /var/lib/voice-passport
USER node
VOLUME ["/var/lib/voice-passport"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/src/server.js"]
