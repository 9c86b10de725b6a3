/**
 * Builds the web app into dist/web, which the API server serves (src/app.ts). In development
 * (`npm run dev`) the Vite server proxies /api to the API on API_PORT (default 3008).
 */
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const webRoot = decodeURIComponent(new URL('.', import.meta.url).pathname);
const apiTarget = `http://127.0.0.1:${globalThis.process?.env.API_PORT ?? '3008'}`;

export default defineConfig({
  root: webRoot,
  base: '/',
  plugins: [react()],
  // The server's leaf schema modules (src/**/*.schemas.ts: TypeBox only) are shared with the web
  // app as `@server/…`, so both sides use one definition of each shape.
  resolve: { alias: { '@server': `${webRoot}../src` } },
  build: {
    outDir: `${webRoot}../dist/web`,
    emptyOutDir: true,
    // The modulepreload polyfill would be inlined only for old browsers; CSP forbids inline scripts.
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 400,
  },
  server: {
    port: 5173,
    strictPort: false,
    proxy: { '/api': { target: apiTarget, changeOrigin: false } },
  },
});
