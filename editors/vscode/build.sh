#!/usr/bin/env bash
# Builds the VS Code extension into editors/vscode/handover-VERSION.vsix: installs the client
# library and the packager (@vscode/vsce) from the npm registry, then packages. Install the result
# with `code --install-extension editors/vscode/handover-VERSION.vsix`. Not part of `cargo test`.
set -euo pipefail
cd "$(dirname "$0")"
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  npm install --no-audit --no-fund
fi
version=$(node -p 'require("./package.json").version')
npx --no-install vsce package --allow-missing-repository --skip-license --out "handover-${version}.vsix"
echo "built editors/vscode/handover-${version}.vsix"
