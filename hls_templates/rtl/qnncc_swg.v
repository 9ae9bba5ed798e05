// qnncc RTL library: sliding window generator (ConvolutionInputGenerator), Im2Col of a stream.
//
// Input: an (already padded) IH x IW image, C/SIMD words of SIMD channels per
// pixel, row by row. Output: for each output pixel (oh, ow) the KH x KW window
// x[oh*SH + i*DH][ow*SW + j*DW][c] in (i, j, c) order, KH*KW*C/SIMD words.
// A line buffer of ROWS image rows (row r in slot r mod ROWS; ROWS >= the
// dilated kernel height SPAN) decouples reading and emitting: output row oh
// is emitted once rows oh*SH .. oh*SH + SPAN - 1 are in, and input row r is
// read while r < oh*SH + ROWS. With ROWS = SPAN + SH a frame takes about
// max(IH*IW, OH*OW*KH*KW) * C/SIMD cycles. The emit side is a 1-cycle RAM
// read whose register is the output register (stalls with back-pressure).
module qnncc_swg #(
    parameter IH = 1,
    parameter IW = 1,
    parameter C = 1,
    parameter SIMD = 1,
    parameter KH = 1,
    parameter KW = 1,
    parameter SH = 1,
    parameter SW = 1,
    parameter DH = 1,
    parameter DW = 1,
    parameter OH = 1,
    parameter OW = 1,
    parameter ROWS = 1,
    parameter BITS = 1,
    parameter RAM_STYLE = "auto"
) (
    input wire clk,
    input wire rst_n,
    input wire [SIMD*BITS-1:0] in_data,
    input wire in_valid,
    output wire in_ready,
    output wire [SIMD*BITS-1:0] out_data,
    output reg out_valid,
    input wire out_ready
);
  localparam CF = C / SIMD;
  localparam SPAN = DH * (KH - 1) + 1;
  localparam WORDS = ROWS * IW * CF;
  localparam AW = (WORDS > 1) ? $clog2(WORDS) : 1;
  localparam RW = $clog2(IH + ROWS + OH * SH + 2);
  localparam CW = $clog2(IW * CF + OW * SW + KW * DW + 2);
  localparam KW_ = $clog2(KH + KW + CF + 2);
  reg [RW-1:0] rr, top, base, oh;
  reg [CW-1:0] rword, ow;
  reg [AW-1:0] wptr;
  reg [KW_-1:0] ki, kj, cf;
  wire en = !out_valid || out_ready;
  wire can_emit = (oh < OH) && (rr >= top + SPAN);
  wire can_read = (rr < IH) && (oh == OH || rr < top + ROWS);
  wire frame_done = (rr == IH) && (oh == OH);
  assign in_ready = can_read;
  wire in_fire = in_valid && can_read;
  wire [RW-1:0] slot_raw = base + ki * DH;
  wire [RW-1:0] slot = (slot_raw >= ROWS) ? slot_raw - ROWS : slot_raw;
  wire [CW-1:0] col = ow * SW + kj * DW;
  wire [AW-1:0] raddr = (slot * IW + col) * CF + cf;
  qnncc_ram #(
      .WIDTH(SIMD * BITS),
      .DEPTH(WORDS),
      .AW(AW),
      .RAM_STYLE(RAM_STYLE)
  ) buffer (
      .clk(clk),
      .we(in_fire),
      .waddr(wptr),
      .wdata(in_data),
      .re(en),
      .raddr(raddr),
      .q(out_data)
  );
  always @(posedge clk) begin
    if (!rst_n || frame_done) begin
      rr <= 0;
      rword <= 0;
      wptr <= 0;
      oh <= 0;
      top <= 0;
      base <= 0;
      ow <= 0;
      ki <= 0;
      kj <= 0;
      cf <= 0;
      if (!rst_n) out_valid <= 1'b0;
      else if (en) out_valid <= 1'b0;
    end else begin
      if (en) begin
        out_valid <= can_emit;
        if (can_emit) begin
          if (cf == CF - 1) begin
            cf <= 0;
            if (kj == KW - 1) begin
              kj <= 0;
              if (ki == KH - 1) begin
                ki <= 0;
                if (ow == OW - 1) begin
                  ow <= 0;
                  oh <= oh + 1'b1;
                  top <= top + SH;
                  base <= (base + SH) % ROWS;
                end else ow <= ow + 1'b1;
              end else ki <= ki + 1'b1;
            end else kj <= kj + 1'b1;
          end else cf <= cf + 1'b1;
        end
      end
      if (in_fire) begin
        wptr <= (wptr == WORDS - 1) ? 0 : wptr + 1'b1;
        if (rword == IW * CF - 1) begin
          rword <= 0;
          rr <= rr + 1'b1;
        end else rword <= rword + 1'b1;
      end
    end
  end
endmodule
