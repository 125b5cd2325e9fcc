/**
 * Structured JSON logs, one object a line, in the shape Cloud Logging reads
 * (`severity`, `message`, then fields).
 */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export function createLogger(base: Record<string, unknown> = {}, write: (line: string) => void = defaultWrite): Logger {
  const emit = (severity: string, message: string, fields?: Record<string, unknown>) =>
    write(JSON.stringify({ severity, message, time: new Date().toISOString(), ...base, ...fields }));
  return {
    info: (message, fields) => emit('INFO', message, fields),
    warn: (message, fields) => emit('WARNING', message, fields),
    error: (message, fields) => emit('ERROR', message, fields),
    child: (fields) => createLogger({ ...base, ...fields }, write),
  };
}

function defaultWrite(line: string) {
  process.stdout.write(`${line}\n`);
}

/** For tests and embedded use where the caller does not want worker logs. */
export const silentLogger: Logger = createLogger({}, () => undefined);
