import type { CustosApi } from '../shared/contract';

declare global {
  interface Window {
    custos: CustosApi;
  }
}

/** The typed API from the preload (Electron) or the binding (preview shell); the only way out of the page. */
export const api: CustosApi = window.custos;
