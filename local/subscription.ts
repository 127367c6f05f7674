export const LOCAL_SUBSCRIPTION = "7d2f3c1a-5b8e-4f6d-9a0c-1e2b3c4d5e6f";
