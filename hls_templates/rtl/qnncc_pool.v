// qnncc RTL library: Pool (MaxPool), the per-channel maximum over the K positions of each window.
//
// Input: per output pixel the window of a depthwise sliding window generator,
// K groups of C/PE words of PE channels in Im2Col (i, j, c) order; output: C/PE
// words of PE channel maxima per pixel. A buffer of C/PE words holds the running
// maxima (compared as decoded values, so signed and bipolar data order
// correctly); an output word leaves with the last window position. One input
// word per cycle: PIXELS * K * C/PE cycles per frame (FINN Pool, HLS window_max).
module qnncc_pool #(
    parameter PIXELS = 1,
    parameter K = 1,
    parameter C = 1,
    parameter PE = 1,
    parameter BITS = 1,
    parameter SIGNED = 0,
    parameter BIPOLAR = 0
) (
    input wire clk,
    input wire rst_n,
    input wire [PE*BITS-1:0] in_data,
    input wire in_valid,
    output wire in_ready,
    output reg [PE*BITS-1:0] out_data,
    output reg out_valid,
    input wire out_ready
);
  localparam CF = C / PE;
  localparam AW = (CF > 1) ? $clog2(CF) : 1;
  localparam KW = $clog2(K + 1);
  reg [KW-1:0] k;
  reg [AW-1:0] cf;
  wire en = !out_valid || out_ready;
  assign in_ready = en;
  wire fire = in_valid && en;
  reg [PE*BITS-1:0] maxima[0:CF-1];
  wire [PE*BITS-1:0] old = maxima[cf];
  wire [PE*(BITS+1)-1:0] xs, os;
  qnncc_decode #(
      .N(PE),
      .BITS(BITS),
      .SIGNED(SIGNED),
      .BIPOLAR(BIPOLAR)
  ) dec_in (
      .x(in_data),
      .y(xs)
  );
  qnncc_decode #(
      .N(PE),
      .BITS(BITS),
      .SIGNED(SIGNED),
      .BIPOLAR(BIPOLAR)
  ) dec_old (
      .x(old),
      .y(os)
  );
  reg [PE*BITS-1:0] m;
  integer p;
  always @* begin
    for (p = 0; p < PE; p = p + 1) begin
      if (k == 0 || $signed(xs[p*(BITS+1)+:BITS+1]) > $signed(os[p*(BITS+1)+:BITS+1]))
        m[p*BITS+:BITS] = in_data[p*BITS+:BITS];
      else m[p*BITS+:BITS] = old[p*BITS+:BITS];
    end
  end
  always @(posedge clk) if (fire && k != K - 1) maxima[cf] <= m;
  always @(posedge clk) begin
    if (!rst_n) begin
      k <= 0;
      cf <= 0;
      out_valid <= 1'b0;
    end else if (en) begin
      out_valid <= fire && (k == K - 1);
      if (fire) begin
        out_data <= m;
        if (cf == CF - 1) begin
          cf <= 0;
          k <= (k == K - 1) ? 0 : k + 1'b1;
        end else cf <= cf + 1'b1;
      end
    end
  end
endmodule
