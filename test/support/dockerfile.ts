import { spawn } from 'node:child_process';
import { chmod, cp, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * Performs a Dockerfile's steps without a container engine, in a scratch folder that stands for
 * the image's root: the same COPY set from the build context (refusing what .dockerignore leaves
 * out), the same RUN commands on the same Node major as the base image, and it returns the
 * ENV, USER and CMD to start the result with. It knows FROM (one stage), ENV, WORKDIR, COPY, RUN,
 * USER, EXPOSE and exec-form CMD, and fails on anything else, so the Dockerfile cannot drift
 * into steps this does not perform.
 */
export interface DockerStep {
  instruction: string;
  args: string;
}

export interface PerformedImage {
  /** The image's root on this machine; `workdir` is inside it. */
  root: string;
  workdir: string;
  base: string;
  env: Record<string, string>;
  user: string | null;
  exposed: number[];
  cmd: string[];
}

export function parseDockerfile(text: string): DockerStep[] {
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  return lines
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [, instruction, args] = /^(\S+)\s+(.*)$/.exec(line) ?? [];
      if (!instruction) throw new Error(`Dockerfile: cannot read "${line}"`);
      return { instruction: instruction.toUpperCase(), args: args.trim() };
    });
}

/** .dockerignore's patterns, as the simple top-level names and paths this project uses. */
export async function readDockerignore(context: string): Promise<string[]> {
  const text = await readFile(path.join(context, '.dockerignore'), 'utf8').catch(() => '');
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => line.replace(/^\/+|\/+$/g, ''));
}

function ignored(relative: string, patterns: string[]): boolean {
  return patterns.some((pattern) => relative === pattern || relative.startsWith(`${pattern}/`));
}

export async function performDockerfile(options: {
  context: string;
  root: string;
  /** Runs RUN steps: puts the base image's Node first on PATH. */
  nodeBinDir: string;
  /** Environment for RUN steps on top of this process's and under the image's ENV (npm cache…). */
  runEnv?: Record<string, string>;
  log?: (line: string) => void;
}): Promise<PerformedImage> {
  const steps = parseDockerfile(await readFile(path.join(options.context, 'Dockerfile'), 'utf8'));
  const ignore = await readDockerignore(options.context);
  const image: PerformedImage = {
    root: options.root,
    workdir: '/',
    base: '',
    env: {},
    user: null,
    exposed: [],
    cmd: [],
  };
  const inImage = (target: string) => path.join(options.root, path.posix.resolve(image.workdir, target));
  await mkdir(options.root, { recursive: true });
  await chmod(options.root, 0o755);

  for (const step of steps) {
    options.log?.(`${step.instruction} ${step.args}`);
    switch (step.instruction) {
      case 'FROM':
        if (image.base) throw new Error('Dockerfile: only one stage is performed here');
        image.base = step.args;
        break;
      case 'ENV':
        for (const pair of step.args.split(/\s+/)) {
          const [key, ...value] = pair.split('=');
          if (!key || value.length === 0) throw new Error(`Dockerfile: ENV wants KEY=value pairs, got "${pair}"`);
          image.env[key] = value.join('=');
        }
        break;
      case 'WORKDIR':
        image.workdir = path.posix.resolve(image.workdir, step.args);
        await mkdir(inImage('.'), { recursive: true });
        break;
      case 'COPY': {
        const parts = step.args.split(/\s+/);
        if (parts.some((part) => part.startsWith('--')))
          throw new Error(`Dockerfile: COPY flags are not performed here`);
        const destination = parts.pop()!;
        for (const source of parts) {
          const relative = path.posix.normalize(source).replace(/\/+$/, '');
          if (ignored(relative, ignore)) throw new Error(`Dockerfile: COPY ${source} is excluded by .dockerignore`);
          const from = path.join(options.context, relative);
          const isDirectory = (await stat(from)).isDirectory();
          const to =
            destination.endsWith('/') && !isDirectory
              ? path.join(inImage(destination), path.basename(relative))
              : inImage(destination);
          await mkdir(isDirectory ? to : path.dirname(to), { recursive: true });
          await cp(from, to, {
            recursive: true,
            filter: (file) => !ignored(path.relative(options.context, file).split(path.sep).join('/'), ignore),
          });
        }
        break;
      }
      case 'RUN':
        // The build host's environment (its registry settings and certificates), as a builder has.
        await runShell(step.args, inImage('.'), {
          ...(process.env as Record<string, string>),
          PATH: `${options.nodeBinDir}:${process.env.PATH ?? ''}`,
          ...options.runEnv,
          ...image.env,
        });
        break;
      case 'USER':
        image.user = step.args;
        break;
      case 'EXPOSE':
        image.exposed.push(...step.args.split(/\s+/).map((port) => Number.parseInt(port, 10)));
        break;
      case 'CMD':
        image.cmd = JSON.parse(step.args) as string[];
        break;
      default:
        throw new Error(`Dockerfile: ${step.instruction} is not performed here (see test/support/dockerfile.ts)`);
    }
  }
  return image;
}

function runShell(command: string, cwd: string, env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], {
      cwd,
      env: env as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`RUN ${command} exited with ${code}:\n${output}`)),
    );
  });
}

/** Every file under `dir`, relative to it, with its size. */
export async function listFiles(dir: string, prefix = ''): Promise<{ file: string; bytes: number }[]> {
  const entries = await readdir(path.join(dir, prefix), { withFileTypes: true });
  const files: { file: string; bytes: number }[] = [];
  for (const entry of entries) {
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) files.push(...(await listFiles(dir, relative)));
    else files.push({ file: relative, bytes: (await stat(path.join(dir, relative))).size });
  }
  return files;
}
