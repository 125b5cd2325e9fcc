// Loads one Vercel Node.js function the way Vercel's Node launcher does (launcherType "Nodejs",
// no helpers): imports its handler from the function's own folder and calls its default export
// with the raw (req, res) of an HTTP server. Usage: node vercel-function-host.mjs <handler> <port>
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [handlerPath, port] = process.argv.slice(2);
const { default: handler } = await import(pathToFileURL(path.resolve(handlerPath)).href);
if (typeof handler !== 'function') throw new Error(`${handlerPath} has no default export (req, res) => …`);

const server = http.createServer(async (req, res) => {
  try {
    await handler(req, res);
  } catch (error) {
    console.error('function error', error);
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
    res.end('FUNCTION_INVOCATION_FAILED');
  }
});
server.listen(Number(port), '127.0.0.1', () => console.log(`function ready on ${port} (node ${process.version})`));
process.once('SIGTERM', () => server.close(() => process.exit(0)));
