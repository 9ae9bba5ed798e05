// qnncc RTL library: AddStreams, the elementwise sum of two streams (a join).
//
// Words of PE elements; stream a is in_data's low PE*A_BITS bits, b the high
// PE*B_BITS. The sum is formed exactly in signed bits and encoded in OUT_BITS.
// A word of each input in and one word out per cycle; an input is taken only
// together with the other.
module qnncc_add #(
    parameter PE = 1,
    parameter A_BITS = 8,
    parameter A_SIGNED = 0,
    parameter A_BIPOLAR = 0,
    parameter B_BITS = 8,
    parameter B_SIGNED = 0,
    parameter B_BIPOLAR = 0,
    parameter OUT_BITS = 9
) (
    input wire clk,
    input wire rst_n,
    input wire [PE*(A_BITS+B_BITS)-1:0] in_data,
    input wire [1:0] in_valid,
    output wire [1:0] in_ready,
    output reg [PE*OUT_BITS-1:0] out_data,
    output reg out_valid,
    input wire out_ready
);
  localparam SW = (A_BITS > B_BITS ? A_BITS : B_BITS) + 2;
  wire en = !out_valid || out_ready;
  wire both = in_valid[0] && in_valid[1];
  assign in_ready = {en && in_valid[0], en && in_valid[1]};
  wire [PE*(A_BITS+1)-1:0] as_;
  wire [PE*(B_BITS+1)-1:0] bs_;
  qnncc_decode #(
      .N(PE),
      .BITS(A_BITS),
      .SIGNED(A_SIGNED),
      .BIPOLAR(A_BIPOLAR)
  ) dec_a (
      .x(in_data[PE*A_BITS-1:0]),
      .y(as_)
  );
  qnncc_decode #(
      .N(PE),
      .BITS(B_BITS),
      .SIGNED(B_SIGNED),
      .BIPOLAR(B_BIPOLAR)
  ) dec_b (
      .x(in_data[PE*(A_BITS+B_BITS)-1:PE*A_BITS]),
      .y(bs_)
  );
  reg [PE*OUT_BITS-1:0] y;
  reg signed [A_BITS:0] av;
  reg signed [B_BITS:0] bv;
  reg signed [SW-1:0] s;
  integer p;
  always @* begin
    for (p = 0; p < PE; p = p + 1) begin
      av = as_[p*(A_BITS+1)+:A_BITS+1];
      bv = bs_[p*(B_BITS+1)+:B_BITS+1];
      s = av + bv;
      y[p*OUT_BITS+:OUT_BITS] = s[OUT_BITS-1:0];
    end
  end
  always @(posedge clk) begin
    if (!rst_n) out_valid <= 1'b0;
    else if (en) begin
      out_valid <= both;
      if (both) out_data <= y;
    end
  end
endmodule
