// qnncc RTL library: FMPadding, constant padding of a feature map stream.
//
// An H x W image (C/SIMD words of SIMD channels per pixel) becomes
// (TOP + H + BOTTOM) x (LEFT + W + RIGHT) pixels, the input surrounded by
// words of PAD (the element code, BITS-bit two's complement: 0 by default,
// the datatype's minimum before a padded max pool of signed data). One output word per cycle: OH * OW * C/SIMD cycles per frame;
// an input word is taken only for pixels in_img the original image.
module qnncc_fmpadding #(
    parameter H = 1,
    parameter W = 1,
    parameter TOP = 0,
    parameter LEFT = 0,
    parameter BOTTOM = 0,
    parameter RIGHT = 0,
    parameter C = 1,
    parameter SIMD = 1,
    parameter BITS = 1,
    parameter PAD = 0
) (
    input wire clk,
    input wire rst_n,
    input wire [SIMD*BITS-1:0] in_data,
    input wire in_valid,
    output wire in_ready,
    output reg [SIMD*BITS-1:0] out_data,
    output reg out_valid,
    input wire out_ready
);
  localparam CF = C / SIMD;
  localparam OH = TOP + H + BOTTOM;
  localparam OW = LEFT + W + RIGHT;
  localparam YW = $clog2(OH + 1);
  localparam XW = $clog2(OW + 1);
  localparam FW = $clog2(CF + 1);
  localparam [BITS-1:0] PAD_CODE = PAD;
  reg [YW-1:0] y;
  reg [XW-1:0] x;
  reg [FW-1:0] cf;
  wire en = !out_valid || out_ready;
  wire in_img = (y >= TOP) && (y < TOP + H) && (x >= LEFT) && (x < LEFT + W);
  assign in_ready = en && in_img;
  wire go = en && (!in_img || in_valid);
  always @(posedge clk) begin
    if (!rst_n) begin
      y <= 0;
      x <= 0;
      cf <= 0;
      out_valid <= 1'b0;
    end else if (en) begin
      out_valid <= go;
      if (go) begin
        out_data <= in_img ? in_data : {SIMD{PAD_CODE}};
        if (cf == CF - 1) begin
          cf <= 0;
          if (x == OW - 1) begin
            x <= 0;
            y <= (y == OH - 1) ? 0 : y + 1'b1;
          end else x <= x + 1'b1;
        end else cf <= cf + 1'b1;
      end
    end
  end
endmodule
