// qnncc RTL library: GlobalAccPool, the per-channel sum over all pixels of a frame.
//
// PIXELS pixels of C channels (C/PE words of PE channels per pixel); writes
// C/PE words of PE sums in OUT_BITS (a type that holds every partial sum).
// An output word leaves with the last pixel's word of its channels. One input
// word per cycle: PIXELS * C/PE cycles per frame.
module qnncc_gap #(
    parameter PIXELS = 1,
    parameter C = 1,
    parameter PE = 1,
    parameter IN_BITS = 1,
    parameter IN_SIGNED = 0,
    parameter IN_BIPOLAR = 0,
    parameter OUT_BITS = 8
) (
    input wire clk,
    input wire rst_n,
    input wire [PE*IN_BITS-1:0] in_data,
    input wire in_valid,
    output wire in_ready,
    output reg [PE*OUT_BITS-1:0] out_data,
    output reg out_valid,
    input wire out_ready
);
  localparam CF = C / PE;
  localparam AW = (CF > 1) ? $clog2(CF) : 1;
  localparam PW = $clog2(PIXELS + 1);
  localparam SW = (OUT_BITS > IN_BITS ? OUT_BITS : IN_BITS) + 2;
  reg [PW-1:0] pixel;
  reg [AW-1:0] cf;
  wire en = !out_valid || out_ready;
  assign in_ready = en;
  wire fire = in_valid && en;
  reg [PE*OUT_BITS-1:0] acc[0:CF-1];
  wire [PE*OUT_BITS-1:0] old = acc[cf];
  wire [PE*(IN_BITS+1)-1:0] xs;
  qnncc_decode #(
      .N(PE),
      .BITS(IN_BITS),
      .SIGNED(IN_SIGNED),
      .BIPOLAR(IN_BIPOLAR)
  ) dec (
      .x(in_data),
      .y(xs)
  );
  reg [PE*OUT_BITS-1:0] sums;
  reg signed [SW-1:0] s;
  reg signed [IN_BITS:0] xv;
  integer p;
  always @* begin
    for (p = 0; p < PE; p = p + 1) begin
      xv = xs[p*(IN_BITS+1)+:IN_BITS+1];
      s = (pixel == 0) ? xv : $signed({{SW - OUT_BITS{1'b0}}, old[p*OUT_BITS+:OUT_BITS]}) + xv;
      sums[p*OUT_BITS+:OUT_BITS] = s[OUT_BITS-1:0];
    end
  end
  always @(posedge clk) if (fire) acc[cf] <= sums;
  always @(posedge clk) begin
    if (!rst_n) begin
      pixel <= 0;
      cf <= 0;
      out_valid <= 1'b0;
    end else if (en) begin
      out_valid <= fire && (pixel == PIXELS - 1);
      if (fire) begin
        out_data <= sums;
        if (cf == CF - 1) begin
          cf <= 0;
          pixel <= (pixel == PIXELS - 1) ? 0 : pixel + 1'b1;
        end else cf <= cf + 1'b1;
      end
    end
  end
endmodule
