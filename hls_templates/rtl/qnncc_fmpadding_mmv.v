// qnncc RTL library: FMPadding with MMV pixels per word (SIMD = C, MMV > 1).
//
// An H x W image of PIX-bit pixels (C channels of BITS bits), MMV pixels per
// input word, becomes (TOP + H + BOTTOM) x (LEFT + W + RIGHT) pixels, MMV per
// output word (MMV divides the padded width OW, so a word lies in one row, and
// H*W). The padding pixels hold C copies of PAD (the element code). One output
// word per cycle: OH * OW / MMV cycles per frame (qnncc's fmpadding_mmv).
// The interior pixels of an output word are contiguous; they come from a queue
// of input pixels (at most MMV - 1 held between words), refilled with one input
// word on the cycle of a word that needs more than the queue holds.
module qnncc_fmpadding_mmv #(
    parameter H = 1,
    parameter W = 1,
    parameter TOP = 0,
    parameter LEFT = 0,
    parameter BOTTOM = 0,
    parameter RIGHT = 0,
    parameter C = 1,
    parameter MMV = 2,
    parameter BITS = 1,
    parameter PAD = 0
) (
    input wire clk,
    input wire rst_n,
    input wire [MMV*C*BITS-1:0] in_data,
    input wire in_valid,
    output wire in_ready,
    output reg [MMV*C*BITS-1:0] out_data,
    output reg out_valid,
    input wire out_ready
);
  localparam PIX = C * BITS;
  localparam OH = TOP + H + BOTTOM;
  localparam OW = LEFT + W + RIGHT;
  localparam WPR = OW / MMV;  // output words per row
  localparam CAT = 2 * MMV - 1;  // queue and one input word
  localparam YW = $clog2(OH + 1);
  localparam XW = $clog2(WPR + 1);
  localparam HW = $clog2(MMV + 1);
  localparam [BITS-1:0] PAD_CODE = PAD;
  localparam [PIX-1:0] PAD_PIX = {C{PAD_CODE}};

  reg [YW-1:0] y;
  reg [XW-1:0] xw;
  reg [HW-1:0] held;  // pixels in the queue (< MMV)
  reg [(MMV-1)*PIX-1:0] queue;  // pixel i at bits [i*PIX, (i+1)*PIX)

  // this word's interior pixels: how many (need), from which column (first)
  reg [HW-1:0] need;
  reg [MMV-1:0] interior;
  reg [CAT*PIX-1:0] cat;
  reg [MMV*PIX-1:0] word;
  reg [(MMV-1)*PIX-1:0] queue_next;
  integer j, col, taken;
  wire read = (held < need);
  wire en = !out_valid || out_ready;
  assign in_ready = en && read;
  wire go = en && (!read || in_valid);
  always @* begin
    need = 0;
    for (j = 0; j < MMV; j = j + 1) begin
      col = xw * MMV + j;
      interior[j] = (y >= TOP) && (y < TOP + H) && (col >= LEFT) && (col < LEFT + W);
      if (interior[j]) need = need + 1'b1;
    end
    for (j = 0; j < CAT; j = j + 1) begin
      if (j < held) cat[j*PIX+:PIX] = queue[j*PIX+:PIX];
      else if (j < held + MMV) cat[j*PIX+:PIX] = in_data[(j-held)*PIX+:PIX];
      else cat[j*PIX+:PIX] = {PIX{1'b0}};
    end
    taken = 0;
    for (j = 0; j < MMV; j = j + 1) begin
      if (interior[j]) begin
        word[j*PIX+:PIX] = cat[taken*PIX+:PIX];
        taken = taken + 1;
      end else word[j*PIX+:PIX] = PAD_PIX;
    end
    for (j = 0; j < MMV - 1; j = j + 1) queue_next[j*PIX+:PIX] = cat[(j+need)*PIX+:PIX];
  end

  always @(posedge clk) begin
    if (!rst_n) begin
      y <= 0;
      xw <= 0;
      held <= 0;
      out_valid <= 1'b0;
    end else if (en) begin
      out_valid <= go;
      if (go) begin
        out_data <= word;
        queue <= queue_next;
        held <= held + (read ? MMV : 0) - need;
        if (xw == WPR - 1) begin
          xw <= 0;
          y <= (y == OH - 1) ? 0 : y + 1'b1;
        end else xw <= xw + 1'b1;
      end
    end
  end
endmodule
