// Builds the app into the Python package (nodepipe/api/static), which serves it.
// `npm run dev` proxies /api and /login to a `nodepipe serve` running on 127.0.0.1:8000.
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "../src/nodepipe/api/static",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1024,
  },
  server: {
    proxy: {
      "/api": { target: "http://127.0.0.1:8000", changeOrigin: false },
      "/login": { target: "http://127.0.0.1:8000", changeOrigin: false },
    },
  },
});
