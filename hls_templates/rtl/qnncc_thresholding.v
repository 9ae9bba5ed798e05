// qnncc RTL library: Thresholding layer, per-channel multi-thresholding of a stream.
//
// Word nf (mod NF = C/PE) of PE elements holds channels nf*PE .. nf*PE + PE-1;
// each element goes through qnncc_act with its channel's thresholds, read
// from the ROM T_FILE (word nf: lanes (p, k)). One word per cycle: NUMVEC * NF
// cycles per frame. Two stages (ROM read, output register) advance together
// when the output register is free or being read.
module qnncc_thresholding #(
    parameter C = 1,
    parameter PE = 1,
    parameter IN_BITS = 8,
    parameter IN_SIGNED = 0,
    parameter IN_BIPOLAR = 0,
    parameter STEPS = 1,
    parameter T_W = 8,
    parameter OUT_BITS = 1,
    parameter ACT_VAL = 0,
    parameter BIPOLAR_OUT = 0,
    parameter T_FILE = "",
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
  wire [PE*STEPS*T_W-1:0] t_q;
  qnncc_rom #(
      .WIDTH(PE * STEPS * T_W),
      .DEPTH(NF),
      .AW(NFW),
      .INIT_FILE(T_FILE),
      .RAM_STYLE(RAM_STYLE)
  ) thresholds (
      .clk(clk),
      .en(en),
      .addr(nf),
      .q(t_q)
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
  wire [PE*OUT_BITS-1:0] y;
  qnncc_act #(
      .PE(PE),
      .STEPS(STEPS),
      .IN_W(IN_BITS + 1),
      .T_W(T_W),
      .OUT_BITS(OUT_BITS),
      .ACT_VAL(ACT_VAL),
      .BIPOLAR_OUT(BIPOLAR_OUT)
  ) act (
      .x(xs),
      .thr(t_q),
      .y(y)
  );
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
