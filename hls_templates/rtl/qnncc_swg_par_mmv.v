// qnncc RTL library: multi-pixel parallel-window sliding window generator
// (ConvolutionInputGenerator, parallel_window = 1, MMV > 1, SIMD = C, no dilation).
//
// Input: an (already padded) IH x IW image, MMV pixels of C channels per word
// (MMV divides IW, so a word lies in one row). Output: the windows of
// qnncc_swg_par in the same raster order, MMV whole windows per word (MMV
// divides OH*OW); window element (i*KW + j)*C + c = x[oh*SH + i][ow*SW + j][c].
// One input word per cycle, IH*IW/MMV cycles per frame (qnncc's swg_parallel_mmv).
// KH-1 line RAMs of IW/MMV words hold the rows above (line k the row h-1-k,
// cascading as in qnncc_swg_par); the word and the lines read at its column
// block form a KH x MMV block, appended to the KW-1 columns kept from the
// previous word: window m of the word (bottom-right corner at column w*MMV + m)
// is columns m .. m+KW-1 of that KH x (KW+MMV-1) array. The windows on the
// stride grid join a queue of at most MMV-1 windows; an output word leaves on
// the cycle the queue and the new windows reach MMV.
// Two pipeline stages share one enable (the output register free or taken):
// stage 1 registers the word and reads the lines, stage 2 forms the windows,
// writes the lines and loads the output register; a line read of the address
// written in the same cycle (IW = MMV) is forwarded.
module qnncc_swg_par_mmv #(
    parameter IH = 1,
    parameter IW = 2,
    parameter C = 1,
    parameter KH = 1,
    parameter KW = 1,
    parameter SH = 1,
    parameter SW = 1,
    parameter OH = 1,
    parameter OW = 1,
    parameter MMV = 2,
    parameter BITS = 1,
    parameter RAM_STYLE = "auto"
) (
    input wire clk,
    input wire rst_n,
    input wire [MMV*C*BITS-1:0] in_data,
    input wire in_valid,
    output wire in_ready,
    output reg [MMV*KH*KW*C*BITS-1:0] out_data,
    output reg out_valid,
    input wire out_ready
);
  localparam PB = C * BITS;  // pixel
  localparam XB = MMV * PB;  // input word
  localparam WB = KH * KW * PB;  // window
  localparam NB = IW / MMV;  // words per image row
  localparam COLS = KW + MMV - 1;
  localparam KEEP = (KW > 1) ? KW - 1 : 1;  // columns kept between words
  localparam LINES = (KH > 1) ? KH - 1 : 1;
  localparam AW = (NB > 1) ? $clog2(NB) : 1;
  localparam HW = $clog2(IH + 1) + 1;
  localparam QW = $clog2(2 * MMV);
  wire en = !out_valid || out_ready;
  assign in_ready = en;
  // ---------------------------------------------------------------- stage 1: word position
  reg [HW-1:0] h;
  reg [AW:0] w;
  wire row_ok = (h + 1 >= KH) && ((h + 1 - KH) % SH == 0) && ((h + 1 - KH) / SH < OH);
  reg [MMV-1:0] col_ok;
  integer m, c;
  always @* begin
    for (m = 0; m < MMV; m = m + 1) begin
      c = w * MMV + m;
      col_ok[m] = (c + 1 >= KW) && ((c + 1 - KW) % SW == 0) && ((c + 1 - KW) / SW < OW);
    end
  end
  reg s1_valid, s1_bypass, s1_row_ok;
  reg [MMV-1:0] s1_emit;
  reg [XB-1:0] s1_x;
  reg [AW-1:0] s1_w;
  // ---------------------------------------------------------------- line RAMs (read in stage 1, written in stage 2)
  wire s2_fire = en && s1_valid;
  wire [LINES*XB-1:0] q_ram;  // line k at [k*XB +: XB], registered read of column block w
  reg [LINES*XB-1:0] s1_forward;
  wire [LINES*XB-1:0] q = s1_bypass ? s1_forward : q_ram;
  wire [LINES*XB-1:0] line_wdata;  // line 0 the word, line k line k-1's old word
  genvar k;
  generate
    for (k = 0; k < LINES; k = k + 1) begin : g_line
      wire [XB-1:0] line_in = (k == 0) ? s1_x : q[((k > 0) ? k - 1 : 0)*XB+:XB];
      assign line_wdata[k*XB+:XB] = line_in;
      qnncc_ram #(
          .WIDTH(XB),
          .DEPTH(NB),
          .AW(AW),
          .RAM_STYLE(RAM_STYLE)
      ) line (
          .clk(clk),
          .we(s2_fire && KH > 1),
          .waddr(s1_w),
          .wdata(line_in),
          .re(en),
          .raddr(w[AW-1:0]),
          .q(q_ram[k*XB+:XB])
      );
    end
  endgenerate
  // ---------------------------------------------------------------- stage 2: windows, queue and output
  reg [KH*KEEP*PB-1:0] kept;  // row r, column j (left first) at [(r*KEEP + j)*PB +: PB]
  reg [KH*COLS*PB-1:0] cols;  // the KH x (KW+MMV-1) array of this word
  reg [(2*MMV-1)*WB-1:0] cat;  // queued windows, then this word's
  reg [(MMV-1)*WB-1:0] queue;  // window i at [i*WB +: WB]
  reg [QW-1:0] held;
  reg [KH*KEEP*PB-1:0] kept_next;
  reg [XB-1:0] row;
  integer r, j, n, total;
  always @* begin
    for (r = 0; r < KH; r = r + 1) begin
      row = (r == KH - 1) ? s1_x : q[(KH-2-r)*XB+:XB];
      for (j = 0; j < COLS; j = j + 1) begin
        if (j < KW - 1) cols[(r*COLS+j)*PB+:PB] = kept[(r*KEEP+j)*PB+:PB];
        else cols[(r*COLS+j)*PB+:PB] = row[(j-(KW-1))*PB+:PB];
      end
      for (j = 0; j < KEEP; j = j + 1)
      kept_next[(r*KEEP+j)*PB+:PB] = (KW > 1) ? cols[(r*COLS+j+MMV)*PB+:PB] : {PB{1'b0}};
    end
    cat = {(2 * MMV - 1) * WB{1'b0}};
    for (n = 0; n < MMV - 1; n = n + 1) if (n < held) cat[n*WB+:WB] = queue[n*WB+:WB];
    total = held;
    for (m = 0; m < MMV; m = m + 1) begin
      if (s1_row_ok && s1_emit[m]) begin
        for (r = 0; r < KH; r = r + 1)
        for (j = 0; j < KW; j = j + 1)
        cat[total*WB+(r*KW+j)*PB+:PB] = cols[(r*COLS+m+j)*PB+:PB];
        total = total + 1;
      end
    end
  end
  integer i;
  always @(posedge clk) begin
    if (!rst_n) begin
      h <= 0;
      w <= 0;
      held <= 0;
      s1_valid <= 1'b0;
      s1_bypass <= 1'b0;
      out_valid <= 1'b0;
    end else if (en) begin
      // stage 2
      out_valid <= s1_valid && (total >= MMV);
      if (s1_valid) begin
        kept <= kept_next;
        if (total >= MMV) begin
          out_data <= cat[MMV*WB-1:0];
          for (i = 0; i < MMV - 1; i = i + 1) queue[i*WB+:WB] <= cat[(i+MMV)*WB+:WB];
          held <= total - MMV;
        end else begin
          queue <= cat[(MMV-1)*WB-1:0];
          held <= total;
        end
      end
      // stage 1
      s1_valid <= in_valid;
      s1_bypass <= s2_fire && (s1_w == w[AW-1:0]);
      s1_forward <= line_wdata;
      if (in_valid) begin
        s1_x <= in_data;
        s1_w <= w[AW-1:0];
        s1_emit <= col_ok;
        s1_row_ok <= row_ok;
        if (w == NB - 1) begin
          w <= 0;
          h <= (h == IH - 1) ? 0 : h + 1'b1;
        end else w <= w + 1'b1;
      end
    end
  end
endmodule
