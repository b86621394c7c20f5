/**
 * The demo token's label: a SoftHSM2 token in the data folder, the same token in the app, the
 * preview shell and the CLI. Its own module so that code needing only the label (the CLI's token
 * listing) does not load the contract's schemas.
 */
export const DEMO_TOKEN_LABEL = 'Custos demo';
