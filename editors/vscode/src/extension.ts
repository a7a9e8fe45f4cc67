// Starts `prover lsp` for Lean 4 files, beside the Lean extension's own server, which stays
// the first for everything else: this one only offers "Prove this sorry (prover)".
import * as vscode from "vscode";
import { LanguageClient, LanguageClientOptions, ServerOptions } from "vscode-languageclient/node";

let client: LanguageClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const config = vscode.workspace.getConfiguration("prover");
  const command = config.get<string>("path", "prover");
  const args = ["lsp", ...config.get<string[]>("args", [])];
  const serverOptions: ServerOptions = { command, args };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "lean4" },
      { scheme: "file", language: "lean" },
    ],
    initializationOptions: config.get("initializationOptions") ?? undefined,
  };
  client = new LanguageClient("prover", "prover", serverOptions, clientOptions);
  context.subscriptions.push({ dispose: () => void client?.stop() });
  await client.start();
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
