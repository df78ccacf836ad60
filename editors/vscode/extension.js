// The VS Code side of handover's editor support: it starts `handover lsp` (the binary named by
// the `handover.server.path` setting) for `.handover` files and leaves everything else to it.

const vscode = require('vscode');
const { LanguageClient } = require('vscode-languageclient/node');

let client;

function newClient() {
  const command = vscode.workspace.getConfiguration('handover').get('server.path') || 'handover';
  const server = { command, args: ['lsp'] };
  const options = {
    documentSelector: [
      { scheme: 'file', language: 'handover' },
      { scheme: 'untitled', language: 'handover' },
    ],
    // Policy files changed outside the editor (a checkout, another tool) are loaded again.
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher('**/*.handover') },
  };
  return new LanguageClient('handover', 'handover language server', server, options);
}

async function restart() {
  if (client) {
    await client.stop();
  }
  client = newClient();
  await client.start();
}

async function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand('handover.restartServer', restart),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('handover.server.path')) {
        restart();
      }
    }),
  );
  try {
    await restart();
  } catch (e) {
    vscode.window.showErrorMessage(
      `handover: cannot start \`${vscode.workspace.getConfiguration('handover').get('server.path')} lsp\` ` +
        `(${e.message}); install handover or set "handover.server.path" to the binary.`,
    );
  }
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
