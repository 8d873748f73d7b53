/**
 * A 16550 UART at 0x3f8 (COM1), enough for a polling driver: the transmit register writes a
 * byte to the output sink at once, the line status always reads "transmitter empty", there is
 * never a received byte, and the other registers (IER, IIR/FCR, LCR with DLAB and the divisor
 * latches, MCR, MSR, SCR) read back what a driver wrote or their idle values.
 */
export const COM1 = 0x3f8;

export class Uart16550 {
  private ier = 0;
  private lcr = 0;
  private mcr = 0;
  private scr = 0;
  private dll = 1;
  private dlm = 0;

  constructor(private readonly out: (byte: number) => void) {}

  read(reg: number): number {
    const dlab = (this.lcr & 0x80) !== 0;
    switch (reg) {
      case 0:
        return dlab ? this.dll : 0;
      case 1:
        return dlab ? this.dlm : this.ier;
      case 2:
        return 0x01; // no interrupt pending
      case 3:
        return this.lcr;
      case 4:
        return this.mcr;
      case 5:
        return 0x60; // THRE | TEMT
      case 6:
        return 0xb0; // DCD DSR CTS
      default:
        return this.scr;
    }
  }

  write(reg: number, value: number): void {
    const dlab = (this.lcr & 0x80) !== 0;
    switch (reg) {
      case 0:
        if (dlab) this.dll = value;
        else this.out(value & 0xff);
        return;
      case 1:
        if (dlab) this.dlm = value;
        else this.ier = value & 0x0f;
        return;
      case 3:
        this.lcr = value;
        return;
      case 4:
        this.mcr = value & 0x1f;
        return;
      case 7:
        this.scr = value;
        return;
      default:
        return; // FCR and the read-only registers
    }
  }
}
