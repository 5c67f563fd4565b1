import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { expect, it } from 'vitest';

// The SDK writes the wire types out (types.ts) so that it needs no dependency; this compiles
// fixtures/schema-compat.ts, which assigns them both ways to @trackmate/schema's types.
it("keeps the SDK's payload types interchangeable with @trackmate/schema's", () => {
  const file = fileURLToPath(new URL('./fixtures/schema-compat.ts', import.meta.url));
  const program = ts.createProgram([file], {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    types: [],
  });
  const messages = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  expect(messages).toEqual([]);
}, 60_000);
