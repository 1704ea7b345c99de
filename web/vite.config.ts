// The portal: built into dist/ (index.html + hashed files under dist/assets/), served by `ent serve`.
// The dev server proxies the API and the identity provider to a running ent (ENT_URL, default :8080).
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const target = process.env.ENT_URL || 'http://localhost:8080';
const proxied = ['/api', '/realms', '/config.json', '/docs', '/openapi.json'];

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true, // dist/docs is written afterwards by scripts/build-docs.mjs
    assetsDir: 'assets',
    assetsInlineLimit: 0, // no data: URIs: every asset is a file under /assets
    sourcemap: false,
    chunkSizeWarningLimit: 800,
  },
  server: { proxy: Object.fromEntries(proxied.map((p) => [p, { target, changeOrigin: false }])) },
});
