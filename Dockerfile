# syntax=docker/dockerfile:1
# Vitals as a container: compiled in a build stage that has the dev dependencies, run from a slim stage that has
# only the production ones, as the unprivileged `node` user.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:20-bookworm-slim AS runtime
# Listening on all interfaces makes Vitals refuse writes unless API_TOKENS is set (see README, Configuration).
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY openapi.yaml ./
# LOG_FILE goes under /var/log/vitals (a volume Promtail reads); ./data is the embedded database's home when
# DATABASE_URL is not set. Both must belong to the user Vitals runs as.
RUN mkdir -p /var/log/vitals /app/data && chown node:node /var/log/vitals /app/data
USER node
EXPOSE 8080
# The slim image has no curl or wget: Node's own fetch asks /health (liveness).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/main.js"]
