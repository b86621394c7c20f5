import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: 'renderer',
  base: './',
  plugins: [react()],
  build: {
    outDir: '../dist/renderer',
    emptyOutDir: true,
    // No inline scripts: the CSP is default-src 'none' with script-src 'self'.
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: 'chrome120',
  },
});
