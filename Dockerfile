# Chronos image: one code base, roles chosen by CHRONOS_ROLES.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY web ./web
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
# Inside a container loopback is unreachable from outside: listen on every interface; publish the port as needed.
ENV HOST=0.0.0.0
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
USER node
EXPOSE 3000
# A larger young generation: Chronos allocates many short-lived objects per job (docs/benchmarks.md).
CMD ["node", "--max-semi-space-size=64", "dist/main.js"]
