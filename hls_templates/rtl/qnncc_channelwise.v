// qnncc RTL library: ChannelwiseOp, one per-channel parameter applied to every element.
//
// Element p of word nf (mod NF = C/PE) is channel nf*PE + p and becomes
// Func(param, x) evaluated exactly in WIDE signed bits (OP 0: p + x, 1: p * x,
// 2: p <= x, 3: p >= x; finn-hlslib's argument order), then encoded in
// OUT_BITS (OUT_BIPOLAR: code 1 for +1, 0 for -1). Parameters come from the
// ROM P_FILE (word nf: PE signed P_W-bit lanes). One word per cycle.
module qnncc_channelwise #(
    parameter C = 1,
    parameter PE = 1,
    parameter IN_BITS = 8,
    parameter IN_SIGNED = 0,
    parameter IN_BIPOLAR = 0,
    parameter P_W = 8,
    parameter WIDE = 16,
    parameter OP = 0,
    parameter OUT_BITS = 8,
    parameter OUT_BIPOLAR = 0,
    parameter P_FILE = "",
    parameter RAM_STYLE = "distributed"
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
  localparam NF = C / PE;
  localparam NFW = (NF > 1) ? $clog2(NF) : 1;
  wire en = !out_valid || out_ready;
  assign in_ready = en;
  reg [NFW-1:0] nf;
  reg s_valid;
  reg [PE*IN_BITS-1:0] s_x;
  wire [PE*P_W-1:0] p_q;
  qnncc_rom #(
      .WIDTH(PE * P_W),
      .DEPTH(NF),
      .AW(NFW),
      .INIT_FILE(P_FILE),
      .RAM_STYLE(RAM_STYLE)
  ) params (
      .clk(clk),
      .en(en),
      .addr(nf),
      .q(p_q)
  );
  wire [PE*(IN_BITS+1)-1:0] xs;
  qnncc_decode #(
      .N(PE),
      .BITS(IN_BITS),
      .SIGNED(IN_SIGNED),
      .BIPOLAR(IN_BIPOLAR)
  ) dec (
      .x(s_x),
      .y(xs)
  );
  reg [PE*OUT_BITS-1:0] y;
  reg signed [WIDE-1:0] pv, xv, r;
  reg signed [IN_BITS:0] xe;
  reg signed [P_W-1:0] pe_;
  integer p;
  always @* begin
    for (p = 0; p < PE; p = p + 1) begin
      xe = xs[p*(IN_BITS+1)+:IN_BITS+1];
      pe_ = p_q[p*P_W+:P_W];
      xv = xe;
      pv = pe_;
      case (OP)
        0: r = pv + xv;
        1: r = pv * xv;
        2: r = (pv <= xv) ? 1 : 0;
        default: r = (pv >= xv) ? 1 : 0;
      endcase
      if (OUT_BIPOLAR != 0) y[p*OUT_BITS+:OUT_BITS] = (r > 0) ? 1 : 0;
      else y[p*OUT_BITS+:OUT_BITS] = r[OUT_BITS-1:0];
    end
  end
  always @(posedge clk) begin
    if (!rst_n) begin
      nf <= 0;
      s_valid <= 1'b0;
      out_valid <= 1'b0;
    end else if (en) begin
      s_valid <= in_valid;
      if (in_valid) begin
        s_x <= in_data;
        nf  <= (nf == NF - 1) ? 0 : nf + 1'b1;
      end
      out_valid <= s_valid;
      if (s_valid) out_data <= y;
    end
  end
endmodule
