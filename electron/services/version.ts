/** The app's version, shown by `custos --version` and the About line; its own module so that printing it loads nothing else. */
export const VERSION = '0.1.0';
