/**
 * The one error kind the builder raises: an image or a request we cannot run, with a one-line
 * message naming the reason. Every check on guest-supplied bytes (kernel image, ramdisk,
 * command line) throws this and nothing else; the CLI prints its message and exits.
 */
export class ImageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageError';
  }
}

export function fail(message: string): never {
  throw new ImageError(message);
}
