// tsc does not keep the executable bit; `npx cf-native` runs dist/cli/main.js directly.
import { chmodSync } from 'node:fs';
chmodSync(new URL('../dist/cli/main.js', import.meta.url), 0o755);
